global _start

section .text
_start:
    mov eax, nowhere
    frobnicate rax
