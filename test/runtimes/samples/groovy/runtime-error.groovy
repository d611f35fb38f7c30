int[] values = [1, 2, 3]
println values[values.length]
