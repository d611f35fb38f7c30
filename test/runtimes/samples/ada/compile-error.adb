procedure Main is
   A : Integer := "hello";
begin
   null;
end Main;
