"""The one pandas dtype every stage's text columns share (cells as read, issue tables): strings
stored in pyarrow, so the column checks run in Arrow's C++ kernels."""

from __future__ import annotations

import pandas as pd

__all__ = ["TEXT"]

TEXT = pd.StringDtype("pyarrow")
