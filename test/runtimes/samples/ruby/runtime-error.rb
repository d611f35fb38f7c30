values = [1, 2, 3]
puts values.fetch(values.size)
