import numpy as np

print("hello, world" if np.array([1, 2]).sum() == 3 else "wrong")
