raise ArgumentError, "no such thing"
