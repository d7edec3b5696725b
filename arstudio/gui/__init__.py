"""The desktop studio (PySide6 + pyqtgraph). Only this package imports Qt."""
