"""The convergence report: key numbers, Markdown, the HTML page in headless Chromium.

A tiny study (the ``tiny_spec_data`` of ``tests/conftest.py`` with the
KUBC/PBC/SUBC bracket) is solved in-process once per module: no Dask, a few
seconds.
"""

import html as html_module
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import xarray as xr

from sve.report import FIGURES, key_numbers, write_report
from sve.statistics import (
    ensemble_statistics,
    fit_integral_range,
    fit_variance_scaling,
    point_variance,
    rve_size,
)
from sve.study import load_spec
from sve.study.schema import empty_dataset
from sve.study.tasks import failed_batch


@pytest.fixture(scope="module")
def spec(tiny_spec_data):
    return load_spec(tiny_spec_data(solver={"bc": ["kinematic", "periodic", "static"]}))


@pytest.fixture(scope="module")
def study(spec, solve_study):
    return solve_study(spec)


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    return write_report(study, tmp_path_factory.mktemp("report"))


def _layer(study, spec):
    """The statistics layer's own numbers, computed the documented way."""
    stats = ensemble_statistics(study)
    fit = fit_variance_scaling(stats)
    kanit = fit_integral_range(
        stats, ndim=2, point_variance=point_variance(spec.volume_fraction, 10.0, 1.0)
    )
    return stats, fit, kanit


def test_key_numbers_equal_the_statistics_layer(study, spec, written):
    numbers = key_numbers(study)
    stats, fit, kanit = _layer(study, spec)
    xr.testing.assert_allclose(numbers["mean"], stats["mean"])
    xr.testing.assert_allclose(numbers["exponent"], fit["exponent"])
    xr.testing.assert_allclose(numbers["integral_range"], kanit["integral_range"])
    for eps in (0.01, 0.02, 0.05):
        for n in (1, 10):
            rve = rve_size(kanit, stats, relative_error=eps, realizations=n)
            got = numbers.sel(relative_error=eps, rve_realizations=n, drop=True)
            np.testing.assert_allclose(got["rve_length"], rve["rve_length"])
            np.testing.assert_array_equal(got["extrapolated"], rve["extrapolated"])
    # bounds and reference values of a 2-D, φ = 0.5, 'expected' level cut
    assert float(numbers["dykhne"]) == pytest.approx(np.sqrt(10.0))
    assert float(numbers["reuss"]) < float(numbers["hs_lower"]) < float(numbers["dykhne"])
    assert float(numbers["dykhne"]) < float(numbers["hs_upper"]) < float(numbers["voigt"])
    # independent periodic realizations: ergodicity is not testable, no p-value invented
    assert np.isnan(float(numbers["ergodicity_p_value"]))
    assert "not testable" in numbers.attrs["ergodicity"]
    assert int(numbers["workers"]) == 2
    xr.testing.assert_identical(written.numbers, numbers)


def test_markdown_and_html_show_the_layer_numbers(study, spec, written):
    text = written.markdown.read_text()
    page = written.html.read_text()
    stats, fit, kanit = _layer(study, spec)
    for bc in ("kinematic", "periodic", "static"):
        exponent = f"**{fit['exponent'].sel(bc=bc).item():.3f}**"
        assert exponent in text
        assert exponent.replace("**", "<strong>", 1).replace("**", "</strong>") in page
        assert f"{kanit['integral_range'].sel(bc=bc).item():.4g}" in text
        for eps in (0.01, 0.02, 0.05):
            for n in (1, 10):
                rve = rve_size(kanit, stats, relative_error=eps, realizations=n).sel(bc=bc)
                shown = f"{rve['rve_length'].item():.4g}"
                if rve["extrapolated"].item():
                    shown += " (extrapolated)"
                assert shown in text and shown in page
    ergodicity = text.split("## Ergodicity", 1)[1].split("##", 1)[0]
    assert "Not testable from this study" in ergodicity and "p =" not in ergodicity
    assert "Discretization: not estimated" in text
    assert "Partial study" not in text and "Failed records" not in text
    for name in FIGURES:
        assert f"]({name}.png)" in text
        png = written.figures[name].read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000
        svg = written.figures[name].with_suffix(".svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert os.fspath(written) == str(written.markdown)


@pytest.mark.slow
def test_partial_store_gets_a_banner_with_counts_per_size(spec, solve_study, tmp_path):
    ds = solve_study(spec, sizes=(0, 1))  # the two smaller sizes finished, the others pending
    text = write_report(ds, tmp_path).read_text()
    assert "Partial study" in text and "48 of 96 solves finished" in text
    assert "| 6 | 24 | 0 | 0 | 0 | 24 |" in text  # size, ok, not conv., failed, missing, expected
    assert "| 18 | 0 | 0 | 0 | 24 | 24 |" in text
    assert "no variance-scaling fit" in text  # two sizes with data: no fit, said plainly
    assert "Partial study" in (tmp_path / "report.html").read_text()


@pytest.mark.slow
def test_failed_records_are_listed_with_their_error(spec, study, tmp_path):
    ds = study.copy(deep=True)
    failure = failed_batch(spec, range(2), RuntimeError("solver exploded"))
    for name, values in failure.items():
        ds[name][1, :2] = values
    text = write_report(ds, tmp_path).read_text()
    assert "6 solves failed" in text and "## Failed records" in text
    assert "| RuntimeError: solver exploded | 2 | 9/0, 9/1 |" in text


def test_empty_or_foreign_store_is_a_clear_error(spec, tmp_path):
    with pytest.raises(ValueError, match="no successful solve yet"):
        write_report(empty_dataset(spec), tmp_path / "empty")
    with pytest.raises(ValueError, match="not an SVE study"):
        write_report(xr.Dataset({"x": ("a", [1.0])}), tmp_path / "foreign")
    foreign = tmp_path / "foreign.zarr"
    xr.Dataset({"x": ("a", [1.0])}).to_zarr(foreign, consolidated=False)
    with pytest.raises(ValueError, match="not an SVE study store"):
        write_report(foreign, tmp_path / "foreign-report")
    with pytest.raises(ValueError, match="does not exist"):
        write_report(tmp_path / "missing.zarr", tmp_path / "missing-report")


# ---------------------------------------------------------------- the page in a browser

# Written into a test copy of the page, first in <head>: it records script errors,
# failed loads (images included) and CSP violations (any network access), and after
# the load event writes them and every image's naturalWidth into the DOM.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(e.message
  || ('failed to load ' + String(e.target && (e.target.src || e.target.href)).slice(0, 60))),
  true);
document.addEventListener('securitypolicyviolation',
  e => window.__errors.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
const _error = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); _error(...a); };
window.addEventListener('load', () => {
  const p = document.createElement('pre'); p.id = 'probe';
  p.textContent = JSON.stringify({errors: window.__errors,
    widths: Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1)});
  document.body.appendChild(p);
});
</script>"""


def _chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    return found


def _browse(chromium, page, profile, *args):
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        "--window-size=1200,3000", *args, page.as_uri(),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_html_page_renders_in_headless_chromium(written, tmp_path):
    chromium = _chromium()
    html = written.html.read_text()
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    probed = (
        html.replace("script-src", "")
        .replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'")
        .replace("<head>", "<head>\n" + PROBE, 1)
    )
    copy = tmp_path / "probed.html"
    copy.write_text(probed)
    result = _browse(chromium, copy, tmp_path / "profile1", "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    probe = json.loads(html_module.unescape(found.group(1)))
    assert probe["errors"] == []
    assert len(probe["widths"]) == len(FIGURES) and min(probe["widths"]) > 0, probe
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    shot = tmp_path / "page.png"
    result = _browse(chromium, written.html, tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.exists(), result.stderr[-2000:]
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (3000, 1200)
    assert pixels.std() > 10  # a blank page is one colour: std 0
