program fail
  error stop 'no such thing'
end program fail
