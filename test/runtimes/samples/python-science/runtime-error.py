import numpy as np

values = np.array([1, 2, 3])
print(values[len(values)])
