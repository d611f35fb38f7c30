global _start

section .data
message: db "hello, world", 10
length: equ $ - message

section .text
_start:
    mov eax, 1          ; write
    mov edi, 1          ; stdout
    lea rsi, [rel message]
    mov edx, length
    syscall
    mov eax, 60         ; exit
    xor edi, edi
    syscall
