-module(main).
-export([main/0]).

main() -> erlang:error(no_such_thing).
