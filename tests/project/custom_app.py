"""A user's own HTTP app, mounted through `http.app`."""

from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/custom/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/custom/whoami")
async def whoami(request: Request) -> dict[str, str | None]:
    user = request.scope.get("user")
    return {"identity": getattr(user, "identity", None)}
