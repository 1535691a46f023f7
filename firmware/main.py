# Boot entry on the board: hand over to the sampler application.
import gc

gc.collect()
import sampler.app  # noqa: E402 - collect first: compiling needs the room

sampler.app.main()
