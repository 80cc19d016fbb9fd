"""COCO run-length encoding of every instance at once equals encoding each mask alone."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scenegen.io.coco import instance_rles, rle_decode, rle_encode


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.int32, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=st.integers(0, 4))
)
def test_instance_rles_match_per_mask_encoding(ids):
    got = instance_rles(ids)
    present = {int(k) for k in np.unique(ids) if k > 0}
    assert set(got) == present
    for k in present:
        assert got[k] == rle_encode(ids == k)
        np.testing.assert_array_equal(rle_decode(got[k]), ids == k)


def test_instance_rles_on_a_frame_sized_image():
    rng = np.random.default_rng(0)
    ids = np.zeros((375, 1242), np.int32)
    for k in range(1, 30):
        r, c = rng.integers(0, 350), rng.integers(0, 1200)
        ids[r : r + rng.integers(1, 40), c : c + rng.integers(1, 60)] = k
    ids[:, -1] = 7  # a run that ends the image
    got = instance_rles(ids)
    for k in np.unique(ids[ids > 0]):
        assert got[int(k)] == rle_encode(ids == k)
