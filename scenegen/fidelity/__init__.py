"""How close a synthetic dataset is to a real one: weight-free statistics of the camera
images, the LiDAR scans and the labels, each compared with a real-vs-real baseline.

:func:`run_fidelity` reads both datasets (any format :class:`scenegen.io.DatasetReader`
knows), compares them and returns a :class:`FidelityResult`; :func:`write_report` writes
``fidelity.json``, ``report.md``, ``report.html`` and the plots.
"""
