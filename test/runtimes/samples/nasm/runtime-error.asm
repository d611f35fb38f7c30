global _start

section .data
message: db "no such thing", 10
length: equ $ - message

section .text
_start:
    mov eax, 1          ; write
    mov edi, 2          ; stderr
    lea rsi, [rel message]
    mov edx, length
    syscall
    mov eax, 60         ; exit
    mov edi, 3
    syscall
