program broken
  integer :: a
  a = 'hello'
end program broken
