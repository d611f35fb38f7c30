raise newException(ValueError, "no such thing")
