"""Building and measuring the detector, apart from the runtime reader in ``integration.detect``.

Nothing here runs while tickets are triaged; the detector only loads what these tools wrote
to ``integration/detect/model/``.

- ``train``: ``python -m integration.detect.training.train`` rebuilds the shipped classifiers
  (``textcat`` holds the examples and the spaCy training loop, ``embed`` the embedding heads,
  ``holdout`` the train-on-some / test-on-others checks);
- ``measure``: ``python -m integration.detect.training.measure`` scores detection on the
  Bitext sample or a labeled ticket set;
- ``snapshot``: ``python -m integration.detect.training.snapshot`` writes a digest of the
  detector's output over fixed corpora, to diff before and after a change;
- ``evaluation``: the scoring behind ``escalade eval``.
"""
