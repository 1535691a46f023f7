"""Board files and the chip, board and part rules they are checked against."""

from lunasample.hardware.check import check_board
from lunasample.hardware.loader import load_board, load_parts, parts_for_board

__all__ = ["check_board", "load_board", "load_parts", "parts_for_board"]
