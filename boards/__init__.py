"""Board descriptions (JSON), read by the firmware on the board and by the host."""
