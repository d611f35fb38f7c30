import sys

import numpy as np
import pandas as pd
import scipy

numbers = pd.Series(np.array(sys.stdin.read().split(), dtype=np.int64))
assert scipy.special.comb(4, 2) == 6
print(int(numbers.prod()))
