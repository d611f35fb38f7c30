program product
  use iso_fortran_env, only: int64
  integer(int64) :: a, b
  read *, a, b
  print '(i0)', a * b
end program product
