:- initialization(main, main).
main :-
    read_string(user_input, _, Text),
    split_string(Text, " \t\n", " \t\n", Words),
    exclude(==(""), Words, [WordA, WordB]),
    number_string(A, WordA),
    number_string(B, WordB),
    P is A * B,
    format("~d~n", [P]).
