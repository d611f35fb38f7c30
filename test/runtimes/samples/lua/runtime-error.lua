local values = nil
print(values.size)
