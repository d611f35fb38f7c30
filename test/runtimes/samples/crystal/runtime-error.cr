raise "no such thing"
