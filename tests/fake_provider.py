"""A fake model provider for the hub's profile tests, served on 127.0.0.1 (tests/conftest.py's ServedApp).

OpenAI-like chat, image and speech endpoints, Google-like base64 audio, an async video job (submit, poll, download),
and endpoints that misbehave: slow, flaky (503 twice per key, then 200), 500, malformed JSON, HTML. Every request
is recorded in `requests` for the tests to inspect.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

API_KEY = "sk-test-0123456789abcdef"
AUDIO_BYTES = b"ID3\x04\x00fake-mpeg-audio\xff\xfb"
WAV_BYTES = b"RIFF\x24\x00\x00\x00WAVEfmt fake-wav"
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42fake-video"
POLLS_UNTIL_DONE = 2


class FakeProvider:
    def __init__(self) -> None:
        self.url = ""  # set once served
        self.requests: list[dict[str, Any]] = []
        self.polls: Counter[str] = Counter()
        self.flaky_calls: Counter[str] = Counter()
        self.jobs: dict[str, str] = {}  # job id -> the state it ends in
        self.app = FastAPI()
        self._routes()

    def calls_to(self, path: str) -> list[dict[str, Any]]:
        return [call for call in self.requests if call["path"] == path]

    async def _record(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        call = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                "headers": dict(request.headers), "json": body}
        self.requests.append(call)
        return call

    @staticmethod
    def _authorized(call: dict[str, Any]) -> bool:
        return bool(call["headers"].get("authorization") == f"Bearer {API_KEY}")

    def _routes(self) -> None:
        app = self.app

        def unauthorized() -> JSONResponse:
            return JSONResponse({"error": {"message": "missing or wrong API key"}}, status_code=401)

        def chat_answer(body: Any) -> dict[str, Any]:
            prompt = body["messages"][-1]["content"] if isinstance(body, dict) and body.get("messages") else ""
            return {"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": "assistant",
                                                                            "content": f"echo: {prompt}"}}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            call = await self._record(request)
            if not self._authorized(call):
                return unauthorized()
            return JSONResponse(chat_answer(call["json"]))

        @app.post("/v1/images/generations")
        async def images(request: Request) -> Response:
            call = await self._record(request)
            count = int(call["json"].get("n", 1))
            return JSONResponse({"created": 1, "data": [{"url": f"https://images.example/{i}.png"}
                                                        for i in range(count)]})

        @app.post("/v1/audio/speech")
        async def speech(request: Request) -> Response:
            await self._record(request)
            return Response(AUDIO_BYTES, media_type="audio/mpeg")

        @app.post("/v1/audio/base64")
        async def base64_audio(request: Request) -> Response:
            await self._record(request)
            encoded = base64.b64encode(WAV_BYTES).decode()
            return JSONResponse({"predictions": [{"audioContent": encoded, "mimeType": "audio/wav"}]})

        @app.post("/v1/videos")
        async def submit_video(request: Request) -> Response:
            call = await self._record(request)
            job_id = f"video_{len(self.jobs) + 1}"
            prompt = str(call["json"].get("prompt", ""))
            self.jobs[job_id] = "failed" if "fail" in prompt else "stuck" if "stuck" in prompt else "completed"
            return JSONResponse({"id": job_id, "status": "queued"})

        @app.get("/v1/videos/{job_id}")
        async def poll_video(job_id: str, request: Request) -> Response:
            await self._record(request)
            self.polls[job_id] += 1
            outcome = self.jobs.get(job_id, "completed")
            done = self.polls[job_id] > POLLS_UNTIL_DONE and outcome != "stuck"
            return JSONResponse({"id": job_id, "status": outcome if done else "in_progress",
                                 "progress": min(100, 50 * self.polls[job_id])})

        @app.get("/v1/videos/{job_id}/content")
        async def download_video(job_id: str, request: Request) -> Response:
            await self._record(request)
            return Response(VIDEO_BYTES, media_type="video/mp4")

        @app.post("/v1/flaky/{key}")
        async def flaky(key: str, request: Request) -> Response:
            call = await self._record(request)
            self.flaky_calls[key] += 1
            if self.flaky_calls[key] <= 2:
                return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
            return JSONResponse(chat_answer(call["json"]))

        @app.post("/v1/slow")
        async def slow(request: Request) -> Response:
            call = await self._record(request)
            await asyncio.sleep(float(call["query"].get("seconds", "2")))
            return JSONResponse(chat_answer(call["json"]))

        @app.post("/v1/boom")
        async def boom(request: Request) -> Response:
            await self._record(request)
            return JSONResponse({"error": {"message": "internal boom"}}, status_code=500)

        @app.post("/v1/malformed")
        async def malformed(request: Request) -> Response:
            await self._record(request)
            return JSONResponse({"unexpected": True})

        @app.post("/v1/html")
        async def html(request: Request) -> Response:
            await self._record(request)
            return HTMLResponse("<html><body>maintenance</body></html>")

        @app.post("/v1/echo-key")
        async def echo_key(request: Request) -> Response:
            call = await self._record(request)
            key = call["headers"].get("authorization", "").removeprefix("Bearer ")
            return JSONResponse({"error": {"message": f"Incorrect API key provided: {key}"}}, status_code=401)
