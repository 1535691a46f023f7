# Parameter store: named integer parameters with ranges, persisted to
# params.json with an atomic write (temp file + rename), validated at load.
# Subsystems declare their parameters; the host reads/writes them with PARAM.
import json
import os

_FILE = "params.json"
_TMP = "params.tmp"


class Params:
    def __init__(self):
        self._spec = {}  # name -> (default, lo, hi)
        self.values = {}
        self.load_error = None
        self.version = 0  # counts changes: a cheap "anything new?" for readers

    def declare(self, name, default, lo, hi):
        """Declare an integer parameter; returns its current value."""
        self._spec[name] = (default, lo, hi)
        if name not in self.values:
            self.values[name] = default
        return self.values[name]

    def get(self, name):
        return self.values[name]

    def spec(self, name):
        return self._spec.get(name)

    def names(self):
        return sorted(self._spec)

    def set(self, name, value):
        """Range-checked set; returns None or an error text. Persists on success."""
        s = self._spec.get(name)
        if s is None:
            return "unknown parameter " + name
        if value < s[1] or value > s[2]:
            return "%s=%d outside %d..%d" % (name, value, s[1], s[2])
        self.values[name] = value
        self.version += 1
        self.save()
        return None

    def load(self):
        """Apply saved values that are still declared and in range."""
        try:
            with open(_FILE) as f:
                saved = json.load(f)
        except OSError:
            return
        except ValueError:
            saved = None
        if not isinstance(saved, dict):  # not JSON, or JSON but not an object
            self.load_error = "params.json corrupt: defaults used"
            return
        for k, v in saved.items():
            s = self._spec.get(k)
            if s is not None and isinstance(v, int) and s[1] <= v <= s[2]:
                self.values[k] = v
        self.version += 1

    def save(self):
        with open(_TMP, "w") as f:
            json.dump(self.values, f)
        os.rename(_TMP, _FILE)
