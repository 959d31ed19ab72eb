// The gallery's little script: the job page follows its job live (SSE), and the upload
// form posts the chosen files to ingest. Every value from the server or the user is
// put into the page as text (textContent, attributes), never parsed as HTML.
"use strict";

(function () {
  const PHOTO_ID = /^[0-9a-f]{64}$/;
  const TERMINAL = new Set(["completed", "partial", "failed"]);
  const ORDER = ["imgur", "flickr", "gphotos"];
  const DELIVERY = new Set(["pending", "retrying", "published", "failed", "skipped"]);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function webLink(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  // As photobus_status.gallery.present.when words it: "2026-11-23 16:40:00 UTC".
  function when(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    return moment.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function size(bytes) {
    if (bytes < 1000) return bytes + " bytes";
    const units = ["KB", "MB", "GB", "TB"];
    let amount = bytes / 1000;
    let unit = 0;
    while (amount >= 1000 && unit < units.length - 1) {
      amount /= 1000;
      unit += 1;
    }
    return amount.toFixed(1) + " " + units[unit];
  }

  // The same markup as the `badge_item` macro of templates/_macros.html.
  function badge(destination, doc) {
    const state = DELIVERY.has(doc.state) ? doc.state : "pending";
    const item = el("li", "badge badge-" + state);
    item.dataset.destination = destination;
    item.dataset.state = state;
    item.append(el("span", "dest", destination), " ");
    let text = state;
    let href = null;
    let detail = null;
    if (state === "published") {
      text = doc.duplicate ? "published (already there)" : "published";
      href = webLink(doc.url);
    } else if (state === "retrying") {
      text = doc.retry_at ? "retrying at " + when(doc.retry_at) : "retrying";
      detail = doc.reason;
    } else if (state === "failed" || state === "skipped") {
      detail = doc.reason;
    }
    if (href) {
      const link = el("a", null, text);
      link.href = href;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      item.append(link);
    } else {
      item.append(el("span", "state", text));
    }
    if (detail) item.append(" ", el("span", "why", detail));
    return item;
  }

  // As present.in_order: imgur, flickr, gphotos, then any other by name.
  function inOrder(destinations) {
    const rank = (name) => {
      const at = ORDER.indexOf(name);
      return at === -1 ? ORDER.length : at;
    };
    return Object.entries(destinations).sort(
      ([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
  }

  function photoLink(photoId, child) {
    const link = el("a");
    link.href = "/photos/" + photoId;
    link.append(child);
    return link;
  }

  // The same markup as an item of templates/job.html.
  function jobItem(item) {
    const row = el("li", "item item-" + item.state);
    row.dataset.itemId = item.item_id;
    const photoId = PHOTO_ID.test(item.photo_id || "") ? item.photo_id : null;
    const thumb = el("div", "item-thumb");
    if (photoId) {
      let picture = el("span", "no-thumb", "no thumbnail yet");
      if (item.thumbnails && item.thumbnails.thumb) {
        picture = el("img");
        picture.src = "/v1/photos/" + photoId + "/renditions/thumb";
        picture.alt = "";
      }
      thumb.append(photoLink(photoId, picture));
    }
    const name = item.filename || item.url || item.item_id;
    const nameBox = el("div", "item-name");
    nameBox.append(photoId ? photoLink(photoId, document.createTextNode(name)) : name);
    const stateBox = el("div", "item-state");
    stateBox.append(el("span", "state state-" + item.state, item.state));
    if (item.duplicate) stateBox.append(" (already uploaded)");
    if (item.reason) stateBox.append(" ", el("span", "why", item.reason));
    const badges = el("ul", "badges");
    for (const [destination, doc] of inOrder(item.destinations || {})) {
      badges.append(badge(destination, doc));
    }
    const body = el("div", "item-body");
    body.append(nameBox, stateBox, badges);
    row.append(thumb, body);
    return row;
  }

  function followJob(section) {
    const status = document.getElementById("job-status");
    const items = document.getElementById("job-items");
    const live = document.getElementById("job-live");
    const progress = document.getElementById("job-progress");
    if (TERMINAL.has(status.dataset.status)) return;

    function show(job) {
      status.textContent = job.status;
      status.dataset.status = job.status;
      status.className = "status status-" + job.status;
      items.replaceChildren(...job.items.map(jobItem));
      const finished = job.items.filter((item) => TERMINAL.has(item.state)).length;
      progress.textContent = finished + " of " + job.items.length + " items done";
    }

    const source = new EventSource(section.dataset.eventsUrl);
    live.textContent = "connecting…";
    source.addEventListener("open", () => { live.textContent = "live"; });
    source.addEventListener("job", (event) => show(JSON.parse(event.data)));
    source.addEventListener("end", () => {
      // The job is over: stop the browser from reconnecting to a finished stream.
      source.close();
      live.textContent = "";
    });
    source.addEventListener("error", () => {
      live.textContent = source.readyState === EventSource.CLOSED
        ? "live updates stopped; reload the page"
        : "reconnecting…";
    });
  }

  function uploadForm(form) {
    const input = document.getElementById("files");
    const drop = document.getElementById("drop");
    const list = document.getElementById("chosen");
    const note = document.getElementById("upload-status");
    const progress = document.getElementById("upload-progress");
    const button = form.querySelector("button[type=submit]");
    const chosen = [];

    function say(text, isError) {
      note.textContent = text;
      note.hidden = !text;
      note.classList.toggle("error", Boolean(isError));
    }

    function add(files) {
      for (const file of files) chosen.push(file);
      list.replaceChildren(...chosen.map((f) => el("li", null, f.name + " (" + size(f.size) + ")")));
      say("");
    }

    input.addEventListener("change", () => {
      add(input.files);
      input.value = "";  // the files are kept in `chosen`; choosing again adds more
    });
    for (const type of ["dragenter", "dragover"]) {
      drop.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add("over");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      drop.addEventListener(type, () => drop.classList.remove("over"));
    }
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      add(event.dataTransfer.files);
    });

    function fields() {
      const data = new FormData();
      for (const name of ["title", "description", "tags", "album"]) {
        const value = form.elements[name].value.trim();
        if (value) data.append(name, value);
      }
      const destinations = [...form.querySelectorAll("input[name=destinations]:checked")];
      data.append("destinations", destinations.map((box) => box.value).join(","));
      for (const file of chosen) data.append("file", file, file.name);
      return data;
    }

    function failed(text) {
      say(text, true);
      progress.hidden = true;
      button.disabled = false;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!chosen.length) {
        say("Choose or drop at least one photo first.", true);
        return;
      }
      // XMLHttpRequest rather than fetch: it reports upload progress.
      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.ingestUrl);
      request.responseType = "json";
      request.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) progress.value = e.loaded / e.total;
      });
      request.addEventListener("load", () => {
        const body = request.response;
        if (request.status === 202 && body && typeof body.job_id === "string") {
          window.location.assign("/jobs/" + encodeURIComponent(body.job_id));
        } else {
          failed((body && body.detail) || "The upload was refused (HTTP " + request.status + ").");
        }
      });
      request.addEventListener("error", () => {
        failed("Could not reach the upload service at " + form.dataset.ingestUrl + "; try again.");
      });
      button.disabled = true;
      progress.value = 0;
      progress.hidden = false;
      say("Uploading " + chosen.length + (chosen.length === 1 ? " photo…" : " photos…"));
      request.send(fields());
    });
  }

  const job = document.getElementById("job");
  if (job) followJob(job);
  const form = document.getElementById("upload");
  if (form) uploadForm(form);
})();
