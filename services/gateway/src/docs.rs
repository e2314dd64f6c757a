//! `GET /docs`: the AsyncAPI documentation rendered by `make asyncapi` (asyncapi/html), served
//! from a directory read at request time, so re-rendering needs no restart. Only the flat
//! files of that directory are served; any other path is a 404.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::Gateway;

pub async fn root() -> Redirect {
    // Relative links in the page resolve against /docs/, not /.
    Redirect::permanent("/docs/")
}

pub async fn index(State(gateway): State<Gateway>) -> Response {
    serve(&gateway, "index.html").await
}

pub async fn file(State(gateway): State<Gateway>, Path(name): Path<String>) -> Response {
    serve(&gateway, &name).await
}

async fn serve(gateway: &Gateway, name: &str) -> Response {
    let Some(dir) = &gateway.docs_dir else {
        return (StatusCode::NOT_FOUND, "this gateway serves no documentation (CLIO_DOCS_DIR is empty)")
            .into_response();
    };
    let flat = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !flat {
        return (StatusCode::NOT_FOUND, format!("no such documentation file: {name}")).into_response();
    }
    let path: PathBuf = dir.join(name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(name))], bytes).into_response(),
        Err(_) if name == "index.html" => (
            StatusCode::NOT_FOUND,
            format!("the AsyncAPI documentation is not rendered in {}: run `make asyncapi`", dir.display()),
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, format!("no such documentation file: {name}")).into_response(),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("yaml") => "application/yaml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
