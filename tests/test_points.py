"""The LiDAR point-cloud type: columns stay aligned, dtypes and shapes are enforced."""

from __future__ import annotations

import numpy as np
import pytest

from scenegen.points import (
    FOG_RETURN,
    HARD_RETURN,
    SPRAY_RETURN,
    MissedBeams,
    PointCloud,
)


def _cloud(n: int = 100) -> PointCloud:
    rng = np.random.default_rng(0)
    # Every label column is a function of the row, so misaligned rows are visible.
    row = np.arange(n)
    return PointCloud(
        xyz=rng.uniform(-50, 50, (n, 3)),
        intensity=rng.random(n),
        ring=row % 64,
        class_ids=row,
        instance_ids=row * 2,
        kind=np.where(row % 3 == 0, FOG_RETURN, HARD_RETURN),
        range_m=row.astype(np.float32) / 4,
    )


def test_columns_get_the_documented_dtypes():
    cloud = _cloud()
    assert cloud.xyz.dtype == cloud.intensity.dtype == cloud.range_m.dtype == np.float32
    assert cloud.ring.dtype == cloud.class_ids.dtype == cloud.instance_ids.dtype == np.int32
    assert cloud.kind.dtype == np.uint8
    assert cloud.frame == "lidar"
    assert set(cloud.columns()) == {"ring", "class_ids", "instance_ids", "kind", "range_m"}


def test_kitti_layout_round_trips_bit_exactly_and_shares_memory():
    xyzi = np.random.default_rng(1).normal(size=(500, 4)).astype(np.float32)
    cloud = PointCloud.from_xyzi(xyzi)
    assert np.shares_memory(cloud.xyz, xyzi) and np.shares_memory(cloud.intensity, xyzi)
    assert cloud.xyzi().tobytes() == xyzi.tobytes()
    assert cloud.columns() == {}  # a .bin knows no rings or labels


def test_take_keeps_every_column_on_its_row():
    cloud = _cloud()
    index = np.array([97, 3, 3, 50, 0])
    part = cloud.take(index)
    assert len(part) == 5
    np.testing.assert_array_equal(part.xyz, cloud.xyz[index])
    np.testing.assert_array_equal(part.intensity, cloud.intensity[index])
    np.testing.assert_array_equal(part.class_ids, index)
    np.testing.assert_array_equal(part.instance_ids, 2 * index)
    np.testing.assert_array_equal(part.ring, index % 64)
    np.testing.assert_array_equal(part.range_m, index / 4)
    mask = cloud.class_ids % 7 == 0
    np.testing.assert_array_equal(cloud.take(mask).xyzi(), cloud.take(np.flatnonzero(mask)).xyzi())


def test_is_weather_follows_the_kind_column():
    cloud = _cloud()
    np.testing.assert_array_equal(cloud.is_weather, cloud.class_ids % 3 == 0)
    assert not cloud.replace(kind=None).is_weather.any()
    spray = cloud.replace(kind=np.full(len(cloud), SPRAY_RETURN))
    assert spray.is_weather.all()


def test_range_from_origin_is_the_euclidean_norm():
    cloud = _cloud()
    expected = np.sqrt((cloud.xyz.astype(np.float64) ** 2).sum(axis=1))
    np.testing.assert_allclose(cloud.range_from_origin_m(), expected, rtol=1e-6)


def test_bad_columns_name_the_column_and_what_was_expected():
    with pytest.raises(ValueError, match=r"xyz must be \(N, 3\)"):
        PointCloud(np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"intensity must have shape \(4,\)"):
        PointCloud(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"class_ids must have shape \(4,\)"):
        PointCloud(np.zeros((4, 3)), np.zeros(4), class_ids=np.zeros(5, np.int32))
    with pytest.raises(ValueError, match=r"ring must be int32 \(integers\), got float64"):
        PointCloud(np.zeros((4, 3)), np.zeros(4), ring=np.zeros(4))
    with pytest.raises(ValueError, match="'lidar' frame"):
        PointCloud(np.zeros((4, 3)), np.zeros(4), frame="cam").require_frame()


def test_empty_clouds_and_missed_beams():
    empty = PointCloud.empty(ring=True, class_ids=True)
    assert len(empty) == 0 and empty.xyzi().shape == (0, 4)
    assert set(empty.columns()) == {"ring", "class_ids"}
    with pytest.raises(ValueError, match=r"unknown columns \['rings'\]"):
        PointCloud.empty(rings=True)
    missed = MissedBeams(np.eye(3), np.arange(3), np.array([np.inf, 4.0, 9.5]))
    assert len(missed) == 3 and missed.ring.dtype == np.int32
    assert len(MissedBeams.none()) == 0
    with pytest.raises(ValueError, match=r"range_m must have shape \(3,\)"):
        MissedBeams(np.eye(3), np.arange(3), np.zeros(2))


def test_integer_columns_accept_any_integers_that_fit():
    cloud = PointCloud(np.zeros((3, 3)), np.zeros(3), ring=np.arange(3, dtype=np.int64))
    assert cloud.ring.dtype == np.int32
    with pytest.raises(ValueError, match=r"kind must fit uint8 \(0\.\.255\)"):
        PointCloud(np.zeros((3, 3)), np.zeros(3), kind=np.array([0, 1, 300]))


def test_class_mask_selects_by_semantic_id():
    cloud = _cloud()
    np.testing.assert_array_equal(cloud.class_mask((3, 5, 500)), np.isin(np.arange(100), (3, 5)))
    with pytest.raises(ValueError, match="no class_ids column"):
        cloud.replace(class_ids=None).class_mask((1,))
