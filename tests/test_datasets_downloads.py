"""alexnet_lib.datasets.downloads: verified, atomic downloads and archives unpacked safely."""

from __future__ import annotations

import hashlib
import json
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from alexnet_lib import datasets, train
from alexnet_lib.datasets import ChecksumMismatch, DataError, DownloadFailed
from helpers import fake_imagenette


def test_download_verifies_and_is_atomic(tmp_path, server):
    served, url = server
    payload = b"x" * 300_000
    (served / "file.bin").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    assert datasets.download(f"{url}/file.bin", dest, good, progress=False).read_bytes() == payload
    assert datasets.download(f"{url}/missing-but-cached", dest, good, progress=False) == dest  # reused

    other = tmp_path / "out" / "other.bin"
    with pytest.raises(ChecksumMismatch, match="was not kept"):
        datasets.download(f"{url}/file.bin", other, "0" * 64, progress=False)
    assert not other.exists() and not list(other.parent.glob("other.bin.*"))  # nothing half-written

    with pytest.raises(ChecksumMismatch, match="exists but its SHA-256"):
        datasets.download(f"{url}/file.bin", dest, "0" * 64, progress=False)


def test_download_without_network(tmp_path, server):
    _, url = server
    with pytest.raises(DownloadFailed, match=r"could not download .* put it at"):
        datasets.download(f"{url}/nothing-here", tmp_path / "f.bin", "0" * 64, progress=False)
    with pytest.raises(DownloadFailed, match="could not download"):
        datasets.download("http://127.0.0.1:9/closed-port", tmp_path / "g.bin", "0" * 64, progress=False, timeout=5)
    assert not list(tmp_path.glob("*.part"))


def test_the_student_path_test_can_serve_a_download_from_this_machine_only(tmp_path, server, monkeypatch):
    served, url = server
    payload = b"a small copy"
    (served / "small.tgz").write_bytes(payload)
    manifest = tmp_path / "downloads.json"
    real = "https://example.org/big.tgz"
    manifest.write_text(json.dumps({real: {"url": f"{url}/small.tgz", "sha256": hashlib.sha256(payload).hexdigest()}}))
    monkeypatch.setenv(datasets.TEST_DOWNLOADS_VAR, str(manifest))
    # the real address and the real checksum are replaced, through the same download code
    assert datasets.download(real, tmp_path / "big.tgz", "0" * 64, progress=False).read_bytes() == payload
    manifest.write_text(json.dumps({real: {"url": "http://example.org/small.tgz", "sha256": "0" * 64}}))
    with pytest.raises(DownloadFailed, match="may only point to this machine"):
        datasets.download(real, tmp_path / "other.tgz", "0" * 64, progress=False)
    manifest.write_text("{not json")
    with pytest.raises(DownloadFailed, match="not a readable JSON file"):
        datasets.download(real, tmp_path / "other.tgz", "0" * 64, progress=False)


@pytest.fixture
def stalling_server():
    """A server that sends headers and a few bytes, then nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
            stop.wait(5)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_a_stalled_download_is_a_download_failure(tmp_path, stalling_server):
    with pytest.raises(DownloadFailed, match="stopped"):
        datasets.download(f"{stalling_server}/file.bin", tmp_path / "f.bin", "0" * 64, progress=False, timeout=1)
    assert not list(tmp_path.iterdir())


def test_a_download_cut_short_is_a_download_failure(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(DownloadFailed):
            datasets.download(f"http://127.0.0.1:{listener.getsockname()[1]}/f", tmp_path / "f.bin", "0" * 64,
                              progress=False, timeout=5)
    finally:
        listener.close()


def test_download_errors_reach_the_trainer_as_one_line(tmp_path, server, no_cache, monkeypatch, capsys):
    served, url = server
    fake_imagenette(served / "imagenette2-320.tgz")
    monkeypatch.setitem(datasets.IMAGENETTE, "320", (f"{url}/imagenette2-320.tgz", "0" * 64, 1000))
    monkeypatch.setattr(datasets.cifar, "CIFAR10_URL", f"{url}/imagenette2-320.tgz")
    for dataset in ("imagenette", "cifar10"):
        code = train.main(["--dataset", dataset, "--no-progress", "--checkpoint-dir", str(tmp_path / dataset)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("alexnet-train: error: ") and "Traceback" not in err, err
        assert "SHA-256" in err


def test_sha256sums_agree_with_the_library():
    from alexnet_lib import pretrained

    listed = {}
    for line in (Path(__file__).resolve().parents[1] / "data" / "SHA256SUMS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            listed[name] = digest
    assert listed == {
        "cifar-10-python.tar.gz": datasets.CIFAR10_SHA256,
        f"weights/{pretrained.TORCHVISION_FILE}": pretrained.TORCHVISION_SHA256_PREFIX,
        **{url.rsplit("/", 1)[1]: digest for url, digest, _ in datasets.IMAGENETTE.values()},
        "tiny-imagenet-200.zip": datasets.imagenet.TINY_IMAGENET_SHA256,
    }


# --- unpacking --------------------------------------------------------------------------------


def test_an_interrupted_unpack_leaves_nothing_that_looks_finished(tmp_path, no_cache):
    archive = no_cache / "imagenette2-160.tgz"
    fake_imagenette(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    def interrupted(staging: Path) -> None:
        assert (staging / "imagenette2-160" / "train").is_dir()  # unpacked, not yet in place
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        datasets.downloads._extract(archive, no_cache, digest, "Imagenette", finish=interrupted)
    assert not (no_cache / "imagenette2-160").exists()
    assert [p.name for p in no_cache.iterdir()] == ["imagenette2-160.tgz"]  # the temporary folder is gone too
    datasets.downloads._extract(archive, no_cache, digest, "Imagenette")
    assert (no_cache / "imagenette2-160" / "val" / "n02102040" / "e.JPEG").exists()


@pytest.mark.parametrize("python", ["with the data filter", "before the data filter (3.10.11)"])
def test_links_out_of_an_archive_are_refused(tmp_path, no_cache, monkeypatch, python):
    if python.startswith("before"):
        monkeypatch.delattr(tarfile, "data_filter")
        ok = no_cache / "imagenette2-160.tgz"
        fake_imagenette(ok)
        datasets.downloads._extract(ok, no_cache, hashlib.sha256(ok.read_bytes()).hexdigest(), "Imagenette")
        assert (no_cache / "imagenette2-160" / "val" / "n02102040" / "e.JPEG").exists()
    archive = no_cache / "evil.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("data/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(tarfile.TarError):
        datasets.downloads._extract(archive, no_cache, digest, "evil")
    assert not (no_cache / "data").exists()


def test_a_stale_staging_folder_is_removed(tmp_path, no_cache):
    """A run killed while unpacking leaves .unpacking-*; the next unpack removes it."""
    archive = no_cache / "imagenette2-160.tgz"
    fake_imagenette(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    stale = no_cache / f".unpacking-{archive.name}-abc123"
    (stale / "imagenette2-160" / "train").mkdir(parents=True)
    (stale / "imagenette2-160" / "train" / "big.bin").write_bytes(b"x" * 1000)
    datasets.downloads._extract(archive, no_cache, digest, "Imagenette")
    assert not stale.exists()
    assert sorted(p.name for p in no_cache.iterdir() if not p.name.endswith(".lock")) == [
        "imagenette2-160", "imagenette2-160.tgz"]


def test_a_truncated_archive_is_a_clear_error(tmp_path, no_cache):
    archive = no_cache / "imagenette2-160.tgz"
    fake_imagenette(archive)
    archive.write_bytes(archive.read_bytes()[:300])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()  # as if its SHA-256 had been published so
    with pytest.raises(DataError, match="cannot be unpacked.*delete it"):
        datasets.downloads._extract(archive, no_cache, digest, "Imagenette")
    assert [p.name for p in no_cache.iterdir() if not p.name.endswith(".lock")] == ["imagenette2-160.tgz"]
