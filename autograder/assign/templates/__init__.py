"""Files copied into every generated assignment folder (``check.py``, ``test_public.py``).

``check.py`` is also imported by the generator, which uses its decoder and comparators, so the
student-side checks and the generator can never disagree about the data format.
"""
