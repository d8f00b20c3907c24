//! Files bots download: `getFile` and `GET /file/bot<token>/<file_path>`,
//! and the page's view of uploaded bytes at `/sandbox/files/{file_unique_id}`.

use serde_json::{json, Value};

use crate::support::{api_error, started_unlimited, Env};

/// Bytes that start as a PNG of `width`x`height` does (the sandbox reads only
/// the header), then a pattern, `len` bytes in all.
fn png_like(width: u32, height: u32, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend((0..len.saturating_sub(bytes.len())).map(|i| (i * 31 % 251) as u8));
    bytes
}

/// GET of a path: (status, headers, body bytes).
async fn fetch(env: &Env, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = env.http.get(format!("{}{path}", env.base)).send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body").to_vec())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON body")
}

#[tokio::test]
async fn an_uploaded_photo_downloads_with_the_bytes_it_was_uploaded_with() {
    let (env, token, user) = started_unlimited("download_bot").await;
    let png = png_like(640, 480, 5000);
    let (status, sent) =
        env.upload(&token, "sendPhoto", json!({"chat_id": user}), &[("photo", "cat.png", &png[..])]).await;
    assert_eq!(status, 200, "{sent}");
    let sizes = sent["result"]["photo"].as_array().expect("sizes");
    let largest = sizes.last().expect("a size");
    // The sides are the image's own, from its header.
    assert_eq!((&largest["width"], &largest["height"]), (&json!(640), &json!(480)));
    let file_id = largest["file_id"].as_str().expect("file_id");

    let (status, answer) = env.call(&token, "getFile", json!({"file_id": file_id})).await;
    assert_eq!(status, 200, "{answer}");
    let file = &answer["result"];
    let keys: Vec<&String> = file.as_object().expect("File").keys().collect();
    assert_eq!(keys, ["file_id", "file_path", "file_size", "file_unique_id"]);
    assert_eq!(file["file_id"], file_id);
    assert_eq!(file["file_unique_id"], largest["file_unique_id"]);
    assert_eq!(file["file_size"], png.len());
    let file_path = file["file_path"].as_str().expect("file_path");
    assert!(file_path.starts_with("photos/file_") && file_path.ends_with(".png"), "{file_path}");

    let (status, headers, body) = fetch(&env, &format!("/file/bot{token}/{file_path}")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert!(body == png, "the downloaded bytes differ from the uploaded ones");

    // Asked again, the same path; sent again by file_id, the same bytes.
    let (_, again) = env.call(&token, "getFile", json!({"file_id": file_id})).await;
    assert_eq!(again["result"]["file_path"], file_path);
    let (status, resent) = env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": file_id})).await;
    assert_eq!(status, 200, "{resent}");
    let resent_id = resent["result"]["photo"].as_array().and_then(|s| s.last()).expect("size")["file_id"].clone();
    let (_, resent_file) = env.call(&token, "getFile", json!({"file_id": resent_id})).await;
    let (_, _, resent_body) =
        fetch(&env, &format!("/file/bot{token}/{}", resent_file["result"]["file_path"].as_str().unwrap_or(""))).await;
    assert!(resent_body == png, "a photo sent again by file_id downloads differently");

    // The page's view: the bytes as an image, never sniffed by the browser.
    let unique_id = largest["file_unique_id"].as_str().expect("file_unique_id");
    let (status, headers, body) = fetch(&env, &format!("/sandbox/files/{unique_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "image/png");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert!(header(&headers, "content-disposition").is_empty());
    assert!(body == png, "the page gets other bytes than were uploaded");
    let (status, conversation) = env.get(&format!("/sandbox/bots/download_bot/chats/{user}")).await;
    assert_eq!(status, 200, "{conversation}");
    let last = conversation["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or_default();
    assert_eq!(last["file_url"], format!("/sandbox/files/{unique_id}"));
}

#[tokio::test]
async fn documents_over_20_mb_are_too_big_and_others_are_attachments_for_the_page() {
    let (env, token, user) = started_unlimited("big_files_bot").await;
    let big = vec![1_u8; 20 * 1024 * 1024 + 1];
    let (status, sent) =
        env.upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "dump.bin", &big[..])]).await;
    assert_eq!(status, 200, "{sent}");
    let big_id = sent["result"]["document"]["file_id"].clone();
    let (status, answer) = env.call(&token, "getFile", json!({"file_id": big_id})).await;
    assert_eq!((status, answer), (400, api_error(400, "Bad Request: file is too big")));

    let pdf = b"%PDF-1.7 a report".to_vec();
    let (status, sent) = env
        .upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "Report Q3 (final).pdf", &pdf[..])])
        .await;
    assert_eq!(status, 200, "{sent}");
    let document = &sent["result"]["document"];
    let (_, answer) = env.call(&token, "getFile", json!({"file_id": document["file_id"]})).await;
    let file_path = answer["result"]["file_path"].as_str().expect("file_path");
    assert!(file_path.starts_with("documents/file_") && file_path.ends_with(".pdf"), "{file_path}");
    let (status, headers, body) = fetch(&env, &format!("/file/bot{token}/{file_path}")).await;
    assert_eq!((status, header(&headers, "content-type"), body), (200, "application/pdf", pdf.clone()));

    let unique_id = document["file_unique_id"].as_str().expect("file_unique_id");
    let (status, headers, body) = fetch(&env, &format!("/sandbox/files/{unique_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert_eq!(header(&headers, "content-disposition"), "attachment; filename=\"Report Q3 _final_.pdf\"");
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(body, pdf);
}

#[tokio::test]
async fn unknown_paths_are_not_found_and_wrong_tokens_unauthorized() {
    let (env, token, user) = started_unlimited("paths_bot").await;
    let png = png_like(10, 10, 100);
    let (_, sent) = env.upload(&token, "sendPhoto", json!({"chat_id": user}), &[("photo", "a.png", &png[..])]).await;
    let file_id = sent["result"]["photo"][0]["file_id"].clone();
    let (_, answer) = env.call(&token, "getFile", json!({"file_id": file_id})).await;
    let file_path = answer["result"]["file_path"].as_str().expect("file_path").to_string();

    let (status, _, body) = fetch(&env, &format!("/file/bot{token}/photos/file_99.jpg")).await;
    assert_eq!((status, json_of(&body)), (404, api_error(404, "Not Found")));
    let (status, _, body) = fetch(&env, &format!("/file/bot{token}/")).await;
    assert_eq!((status, json_of(&body)), (404, api_error(404, "Not Found")));
    let (status, _, body) = fetch(&env, &format!("/file/bot123456:wrong/{file_path}")).await;
    assert_eq!((status, json_of(&body)), (401, api_error(401, "Unauthorized")));
    // Paths are the bot's own: another bot's token does not reach them.
    let (other_token, _) = env.create_bot("paths_other_bot").await;
    let (status, _, body) = fetch(&env, &format!("/file/bot{other_token}/{file_path}")).await;
    assert_eq!((status, json_of(&body)), (404, api_error(404, "Not Found")));

    let (status, _, body) = fetch(&env, "/sandbox/files/AQADunknown").await;
    assert_eq!(status, 404);
    assert!(json_of(&body)["error"].is_string());
}

#[tokio::test]
async fn file_ids_of_other_bots_unknown_ids_and_files_without_bytes_are_refused_as_telegram_does() {
    let (env, token, user) = started_unlimited("owner_bot").await;
    let (other_token, _) = env.create_bot("other_files_bot").await;
    let png = png_like(10, 10, 100);
    let (_, sent) = env.upload(&token, "sendPhoto", json!({"chat_id": user}), &[("photo", "a.png", &png[..])]).await;
    let file_id = sent["result"]["photo"][0]["file_id"].clone();
    let get_file = |token: String, params: Value| {
        let env = &env;
        async move { env.call(&token, "getFile", params).await }
    };
    let unavailable = api_error(400, "Bad Request: wrong file_id or the file is temporarily unavailable");

    assert_eq!(get_file(other_token.clone(), json!({"file_id": file_id})).await, (400, unavailable.clone()));
    let invalid = (400, api_error(400, "Bad Request: invalid file_id"));
    assert_eq!(get_file(token.clone(), json!({"file_id": "AgACunknown0"})).await, invalid);
    assert_eq!(get_file(token.clone(), json!({"file_id": "my photo"})).await, invalid);
    assert_eq!(get_file(token.clone(), json!({})).await, (400, api_error(400, "Bad Request: file_id not specified")));

    // The sandbox has no internet and invents no bytes: a photo sent by URL,
    // or one a user sent through the control API, cannot be downloaded.
    let (status, by_url) =
        env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": "https://example.com/cat.jpg"})).await;
    assert_eq!(status, 200, "{by_url}");
    let url_id = by_url["result"]["photo"][0]["file_id"].clone();
    assert_eq!(get_file(token.clone(), json!({"file_id": url_id})).await, (400, unavailable.clone()));
    let (status, _) =
        env.post(&format!("/sandbox/users/{user}/messages"), json!({"bot_username": "owner_bot", "photo": {}})).await;
    assert_eq!(status, 200);
    let updates = env.updates(&token).await;
    let from_user = updates.iter().rev().find_map(|u| u["message"]["photo"][0]["file_id"].as_str()).expect("photo");
    assert_eq!(get_file(token.clone(), json!({"file_id": from_user})).await, (400, unavailable));
}
