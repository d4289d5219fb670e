"""The browser test bed: Chromium loads a page from the calling service, WebRTC on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine_plugin.service import LocalCallingService, add_static

PAGE = """<!doctype html><title>loopback</title><script>
async function loopbackCandidates() {
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  const seen = [];
  a.onicecandidate = e => {
    if (e.candidate) { seen.push(e.candidate.candidate); b.addIceCandidate(e.candidate); }
  };
  b.onicecandidate = e => { if (e.candidate) a.addIceCandidate(e.candidate); };
  const channel = a.createDataChannel("probe");
  const opened = new Promise(resolve => channel.onopen = resolve);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await opened;
  a.close(); b.close();
  return seen;
}
</script>"""


@pytest.mark.timeout(60)
def test_chromium_loads_a_page_from_the_service_and_connects_on_loopback(
    page: Any, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text(PAGE)
    with LocalCallingService(configure_app=lambda app: add_static(app, "/test", tmp_path)) as svc:
        page.goto(f"http://localhost:{svc.port}/test/index.html")
        assert page.evaluate("window.isSecureContext") is True
        candidates = page.evaluate("loopbackCandidates()")
    # WebRTC worked between two peer connections over 127.0.0.1 only.
    assert candidates and all("127.0.0.1" in c for c in candidates), candidates
