program Fail;
var
  a, b: integer;
begin
  a := 1;
  b := 0;
  writeln(a div b);
end.
