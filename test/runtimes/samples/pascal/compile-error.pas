program Broken;
var
  a: integer;
begin
  a := 'hello';
end.
