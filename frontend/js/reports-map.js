// Street-report maps (Leaflet, loaded before this module as leaflet/leaflet.js).
//
// Progressive enhancement: every page works without this file. A map container is
// rendered hidden, with everything this script needs in data attributes (tiles and their
// attribution, the area's bounds, the wards' GeoJSON address, translated texts, marker
// images); this script shows it and draws the map.
//
//   data-report-map="pick"  "Where is the problem?": selecting the map (or "Put the pin in
//                           the middle of the map", for keyboards, or "Use my location")
//                           puts the pin, whose position goes into the form's hidden lat/lon
//                           fields; choosing a street from the search results moves it.
//   data-report-map="list"  the reports listed on the page (JSON in #report-pins), each a
//                           pin that opens a link to the report.
//   data-report-map="show"  one report's place.
//
// Nothing is sent anywhere but the tile server (MAP_TILE_URL, allowed by the Content
// Security Policy) and our own wards address. The position from "Use my location" stays
// in the page until the resident continues.

const L = window.L;

function parsePoint(text) {
  if (!text) return null;
  const [lat, lon] = text.split(",").map(Number);
  return Number.isFinite(lat) && Number.isFinite(lon) ? L.latLng(lat, lon) : null;
}

function parseBounds(text) {
  const [south, west, north, east] = (text || "").split(",").map(Number);
  if (![south, west, north, east].every(Number.isFinite)) return null;
  return L.latLngBounds([south, west], [north, east]);
}

function markerIcon(container) {
  return L.icon({
    iconUrl: container.dataset.icon,
    iconRetinaUrl: container.dataset.icon2x,
    shadowUrl: container.dataset.shadow,
    iconSize: [25, 41],
    iconAnchor: [12, 41],
    popupAnchor: [1, -34],
    shadowSize: [41, 41],
  });
}

function baseMap(container) {
  container.hidden = false;
  const canvas = container.querySelector(".app-report-map__canvas");
  const bounds = parseBounds(container.dataset.bounds);
  const map = L.map(canvas, {
    // The area and a margin around it: enough to see a boundary, not the whole country.
    maxBounds: bounds ? bounds.pad(0.5) : undefined,
    minZoom: 11,
  });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  L.tileLayer(container.dataset.tileUrl, {
    attribution: container.dataset.tileAttribution,
    maxZoom: 19,
  }).addTo(map);
  if (bounds) map.fitBounds(bounds);
  const wardsUrl = container.dataset.wardsUrl;
  if (wardsUrl) {
    fetch(wardsUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((wards) => {
        if (!wards) return;
        L.geoJSON(wards, {
          interactive: false,
          style: { color: "#0b4f6c", weight: 2, opacity: 0.7, fill: false },
        }).addTo(map);
      })
      .catch(() => {});
  }
  // Text in popups and controls follows the page's language direction.
  canvas.querySelectorAll(".leaflet-control-container").forEach((element) => element.setAttribute("dir", "auto"));
  return map;
}

// --- "Where is the problem?" -------------------------------------------------------------

function pickMap(container) {
  const form = container.closest("form");
  const latInput = form.querySelector("input[name=lat]");
  const lonInput = form.querySelector("input[name=lon]");
  const status = container.querySelector("[data-map-status]");
  const locate = container.querySelector("[data-map-locate]");
  const centre = container.querySelector("[data-map-centre]");
  const map = baseMap(container);
  const icon = markerIcon(container);
  let pin = null;

  const say = (text) => {
    if (status) status.textContent = text || "";
  };

  const place = (latlng, { pan = false, message = status && status.dataset.textPlaced, fromRadio = false } = {}) => {
    if (!pin) {
      pin = L.marker(latlng, {
        icon,
        draggable: true,
        keyboard: true,
        alt: container.dataset.textPin,
        title: container.dataset.textPin,
      }).addTo(map);
      pin.on("dragend", () => place(pin.getLatLng()));
    } else {
      pin.setLatLng(latlng);
    }
    latInput.value = latlng.lat.toFixed(6);
    lonInput.value = latlng.lng.toFixed(6);
    if (!fromRadio) {
      // A pin is the answer now: a street chosen earlier from the search results is not.
      form.querySelectorAll("input[name=place]").forEach((radio) => {
        radio.checked = false;
      });
    }
    if (pan) map.setView(latlng, Math.max(map.getZoom(), 17));
    say(message);
  };

  const start = parsePoint(container.dataset.pin);
  if (start) {
    place(start, { message: "" });
    map.setView(start, 17);
  }

  map.on("click", (event) => place(event.latlng));

  if (centre) {
    centre.addEventListener("click", () => place(map.getCenter()));
  }

  if (locate) {
    if (!("geolocation" in navigator)) {
      locate.hidden = true;
    } else {
      locate.addEventListener("click", () => {
        say(locate.dataset.textLocating);
        navigator.geolocation.getCurrentPosition(
          (position) => {
            const here = L.latLng(position.coords.latitude, position.coords.longitude);
            place(here, { pan: true, message: locate.dataset.textFound });
          },
          () => say(locate.dataset.textDenied),
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
        );
      });
    }
  }

  // A street chosen from the search results moves the pin there.
  form.querySelectorAll("input[name=place]").forEach((radio) => {
    radio.addEventListener("change", () => {
      const point = parsePoint(radio.value);
      if (point && radio.checked) place(point, { pan: true, message: "", fromRadio: true });
    });
  });
}

// --- Reports around a place, one report ---------------------------------------------------

function listMap(container) {
  const map = baseMap(container);
  const icon = markerIcon(container);
  const data = document.getElementById("report-pins");
  const pins = data ? JSON.parse(data.textContent) : [];
  const points = [];
  for (const pin of pins) {
    const point = L.latLng(pin.lat, pin.lon);
    points.push(point);
    const link = document.createElement("a");
    link.className = "govuk-link";
    link.href = pin.url;
    link.textContent = pin.title;
    const content = document.createElement("div");
    content.setAttribute("dir", "auto");
    const status = document.createElement("p");
    status.className = "govuk-body-s govuk-!-margin-bottom-1";
    status.textContent = `${pin.reference} · ${pin.status}`;
    content.append(link, status);
    L.marker(point, { icon, alt: `${container.dataset.textReport}: ${pin.title}`, title: pin.title })
      .bindPopup(content)
      .addTo(map);
  }
  const centre = parsePoint(container.dataset.centre);
  if (points.length > 1) {
    map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 17 });
  } else if (points.length === 1) {
    map.setView(points[0], 16);
  } else if (centre) {
    map.setView(centre, 15);
  }
}

function showMap(container) {
  const map = baseMap(container);
  const point = parsePoint(container.dataset.pin);
  if (!point) return;
  L.marker(point, {
    icon: markerIcon(container),
    alt: container.dataset.textPin,
    keyboard: false,
    interactive: false,
  }).addTo(map);
  map.setView(point, 17);
}

if (L) {
  for (const container of document.querySelectorAll("[data-report-map]")) {
    const mode = container.dataset.reportMap;
    if (mode === "pick") pickMap(container);
    else if (mode === "list") listMap(container);
    else if (mode === "show") showMap(container);
  }
}
