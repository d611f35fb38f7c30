a : Int32 = "hello"
puts a
