# Soft code handing the control tick a job holds the tick's interrupt off
# for the writes only (`with Held(): ...`): the tick never sees a job half
# handed over, and a command's parsing, checks and planning, which run
# before, never delay it.
import machine


class Held:
    def __enter__(self):
        self._irq = machine.disable_irq()
        return self

    def __exit__(self, *exc):
        machine.enable_irq(self._irq)
