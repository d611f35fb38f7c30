; Reads two signed integers from stdin and prints their product.
global _start

section .bss
input: resb 256
output: resb 32

section .text
_start:
    xor r12, r12            ; bytes read so far
.read:
    mov eax, 0              ; read
    mov edi, 0              ; stdin
    lea rsi, [rel input]
    add rsi, r12
    mov edx, 255
    sub rdx, r12
    jz .parse
    syscall
    test rax, rax
    jle .parse
    add r12, rax
    jmp .read
.parse:
    lea rsi, [rel input]
    lea rdi, [rsi + r12]    ; end of input
    call parse_number
    mov rbx, rax
    call parse_number
    imul rbx, rax
    ; format rbx in decimal, from the end of the output buffer
    lea rsi, [rel output + 31]
    mov byte [rsi], 10
    mov rax, rbx
    mov r8, rbx             ; sign
    test rax, rax
    jns .digits
    neg rax
.digits:
    xor edx, edx
    mov ecx, 10
    div rcx
    add dl, '0'
    dec rsi
    mov [rsi], dl
    test rax, rax
    jnz .digits
    test r8, r8
    jns .print
    dec rsi
    mov byte [rsi], '-'
.print:
    lea rdx, [rel output + 32]
    sub rdx, rsi
    mov eax, 1              ; write
    mov edi, 1              ; stdout
    syscall
    mov eax, 60             ; exit
    xor edi, edi
    syscall

; parse_number: rsi = cursor, rdi = end; returns the number in rax, the cursor past it in rsi.
parse_number:
    xor eax, eax
    xor r9, r9              ; 1 when negative
.skip:
    cmp rsi, rdi
    jae .done
    movzx ecx, byte [rsi]
    cmp cl, '-'
    je .minus
    cmp cl, '0'
    jb .next
    cmp cl, '9'
    jbe .number
.next:
    inc rsi
    jmp .skip
.minus:
    mov r9, 1
    inc rsi
.number:
    cmp rsi, rdi
    jae .done
    movzx ecx, byte [rsi]
    sub ecx, '0'
    cmp ecx, 9
    ja .done
    imul rax, rax, 10
    add rax, rcx
    inc rsi
    jmp .number
.done:
    test r9, r9
    jz .positive
    neg rax
.positive:
    ret
