import json

from edge.rules import bench


def test_run_reports_both_configurations():
    result = bench.run(hits=60, seed=3)
    assert set(result) >= {"small_us", "large_us", "ratio"}
    assert result["small_us"] > 0 and result["large_us"] > 0
    # The large configuration contains the small one, and hits only carry the small one's
    # keys, so both realize the same traits.
    assert result["small_traits_per_hit"] == result["large_traits_per_hit"] > 0


def test_build_sizes():
    small, large = bench.build(seed=1)
    assert (len(small.traits), len(small.segments)) == (10, 5)
    assert (len(large.traits), len(large.segments)) == (10_000, 5_000)
    assert len(large.traits.keys()) == 2_000


def test_main_writes_json(tmp_path, capsys):
    out = tmp_path / "rules.json"
    assert bench.main(["--hits", "20", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["hits"] == 20
    assert "ratio large/small" in capsys.readouterr().out

