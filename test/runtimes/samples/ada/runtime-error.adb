procedure Main is
begin
   raise Program_Error with "no such thing";
end Main;
