:- initialization(main, main).
main :- write('hello, world'), nl.
