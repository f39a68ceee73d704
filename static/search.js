// Nice Pick: answer ?q= on an exported search page, from the index `nicepick build` wrote
// (app/commands/static_search.py says what each file holds). On the server the page is
// rendered with its results and this script does nothing. Ranking is the server's: every word
// required as a prefix, FTS5's bm25 with the same column weights, ties to the newer page.
// Everything the reader typed or the index holds reaches the page as textContent only.
(function () {
  "use strict";

  var PER_PAGE = 24;
  var MAX_CHARS = 200;
  var MAX_TERMS = 12;
  var K1 = 1.2;
  var B = 0.75;

  function words(text) {
    // The server's query_terms: word runs, lower case, then FTS5 folds diacritics away.
    var folded = text.slice(0, MAX_CHARS).normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
    return (folded.match(/[\p{L}\p{N}]+/gu) || []).slice(0, MAX_TERMS);
  }

  // A single ASCII letter or digit is a whole word, as on the server ("c vs rust").
  function isWhole(term) {
    return term.length === 1 && /^[a-z0-9]$/.test(term);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) {
        throw new Error(url + ": " + answer.status);
      }
      return answer.json();
    });
  }

  function shardName(prefix) {
    var bytes = new TextEncoder().encode(prefix);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) {
      hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return hex || "_";
  }

  // The shards that can hold a term starting with `term`: the longest shard prefix of it,
  // and every shard whose prefix is longer and starts with it.
  function shardsFor(term, exact, shards) {
    var own = null;
    var wanted = [];
    for (var i = 0; i < shards.length; i++) {
      var prefix = shards[i];
      if (term.startsWith(prefix)) {
        if (own === null || prefix.length > own.length) {
          own = prefix;
        }
      } else if (!exact && prefix.startsWith(term)) {
        wanted.push(prefix);
      }
    }
    if (own !== null) {
      wanted.push(own);
    }
    return wanted;
  }

  // {page: weighted count} for one query word over the shards fetched for it.
  function postings(term, exact, shards) {
    var found = new Map();
    shards.forEach(function (shard) {
      Object.keys(shard).forEach(function (key) {
        if (exact ? key !== term : !key.startsWith(term)) {
          return;
        }
        var flat = shard[key];
        var page = 0;
        for (var i = 0; i < flat.length; i += 2) {
          page += flat[i];
          found.set(page, (found.get(page) || 0) + flat[i + 1]);
        }
      });
    });
    return found;
  }

  function rank(meta, terms, lists) {
    var idf = lists.map(function (list) {
      var value = Math.log((meta.pages - list.size + 0.5) / (list.size + 0.5));
      return value > 0 ? value : 1e-6;
    });
    var scored = [];
    lists[0].forEach(function (_, page) {
      var score = 0;
      for (var i = 0; i < lists.length; i++) {
        var freq = lists[i].get(page);
        if (freq === undefined) {
          return;
        }
        var norm = K1 * (1 - B + (B * meta.lengths[page]) / meta.average);
        score += (idf[i] * (freq * (K1 + 1))) / (freq + norm);
      }
      scored.push([score, page]);
    });
    scored.sort(function (a, b) {
      return b[0] - a[0] || b[1] - a[1];
    });
    return scored.map(function (row) {
      return row[1];
    });
  }

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function link(href, text) {
    var a = element("a", "", text);
    a.setAttribute("href", href);
    return a;
  }

  function pageUrl(query, number) {
    var params = new URLSearchParams({ q: query });
    if (number > 1) {
      params.set("page", String(number));
    }
    return "?" + params.toString();
  }

  function show(box, query, number, docs, total) {
    box.textContent = "";
    if (!docs.length) {
      box.appendChild(
        element(
          "p",
          "lede",
          "Nothing found for \u201c" + query + "\u201d. Try fewer or shorter words: \u201crclo\u201d finds Rclone."
        )
      );
      return;
    }
    var lede = "Results for \u201c" + query + "\u201d" + (number > 1 ? ", page " + number : "") + ".";
    box.appendChild(element("p", "lede", lede));
    var list = element("ol", "card-list search-results");
    list.setAttribute("start", String((number - 1) * PER_PAGE + 1));
    docs.forEach(function (doc) {
      // [slug, title, category, category slug, pick, summary]
      var item = element("li", "card-item");
      var card = element("article", "summary-card");
      var title = element("h2");
      title.appendChild(link("/compare/" + encodeURIComponent(doc[0]), doc[1]));
      var meta = element("p", "meta");
      meta.appendChild(link("/category/" + encodeURIComponent(doc[3]), doc[2]));
      meta.appendChild(document.createTextNode(" \u00b7 "));
      meta.appendChild(element("span", "pick-chip", "Nice Pick: " + doc[4]));
      card.appendChild(title);
      card.appendChild(meta);
      card.appendChild(element("p", "", doc[5]));
      item.appendChild(card);
      list.appendChild(item);
    });
    box.appendChild(list);
    var hasNext = total > number * PER_PAGE;
    if (number > 1 || hasNext) {
      var pager = element("nav", "pager");
      pager.setAttribute("aria-label", "Pages");
      if (number > 1) {
        var prev = link(pageUrl(query, number - 1), "\u2190 Previous");
        prev.setAttribute("rel", "prev");
        pager.appendChild(prev);
      }
      pager.appendChild(element("span", "", "Page " + number));
      if (hasNext) {
        var next = link(pageUrl(query, number + 1), "Next \u2192");
        next.setAttribute("rel", "next");
        pager.appendChild(next);
      }
      box.appendChild(pager);
    }
  }

  function search(box, base, query, number) {
    var terms = words(query);
    if (!terms.length) {
      return Promise.resolve();
    }
    return getJSON(base + "meta.json").then(function (meta) {
      var wanted = new Set();
      var perTerm = terms.map(function (term) {
        var names = shardsFor(term, isWhole(term), meta.shards);
        names.forEach(function (name) {
          wanted.add(name);
        });
        return names;
      });
      var files = {};
      return Promise.all(
        Array.from(wanted).map(function (prefix) {
          return getJSON(base + "t/" + shardName(prefix) + ".json").then(function (shard) {
            files[prefix] = shard;
          });
        })
      ).then(function () {
        var lists = terms.map(function (term, i) {
          return postings(
            term,
            isWhole(term),
            perTerm[i].map(function (prefix) {
              return files[prefix];
            })
          );
        });
        var ranked = rank(meta, terms, lists);
        var shown = ranked.slice((number - 1) * PER_PAGE, number * PER_PAGE);
        var chunks = {};
        shown.forEach(function (page) {
          chunks[Math.floor(page / meta.chunk)] = null;
        });
        return Promise.all(
          Object.keys(chunks).map(function (n) {
            return getJSON(base + "d/" + n + ".json").then(function (chunk) {
              chunks[n] = chunk;
            });
          })
        ).then(function () {
          var docs = shown.map(function (page) {
            return chunks[Math.floor(page / meta.chunk)][page % meta.chunk];
          });
          show(box, query, number, docs, ranked.length);
        });
      });
    });
  }

  function start() {
    var box = document.querySelector("[data-search-index]");
    if (!box || !window.fetch || !window.URLSearchParams) {
      return;
    }
    // Searched here, not on the server the form names for readers without JavaScript.
    var form = document.querySelector("form.search-form");
    if (form) {
      form.setAttribute("action", window.location.pathname);
    }
    var params = new URLSearchParams(window.location.search);
    var query = (params.get("q") || "").slice(0, MAX_CHARS);
    if (!query) {
      return;
    }
    var number = parseInt(params.get("page") || "1", 10);
    if (!(number >= 1)) {
      number = 1;
    }
    ["search-q", "site-search-q"].forEach(function (id) {
      var input = document.getElementById(id);
      if (input) {
        input.value = query;
      }
    });
    document.title = "Search: " + query + " \u00b7 " + document.title.split(" \u00b7 ").pop();
    var popular = document.querySelector(".popular-categories");
    if (popular) {
      popular.hidden = true;
    }
    box.setAttribute("aria-busy", "true");
    search(box, box.getAttribute("data-search-index"), query, number)
      .catch(function () {
        box.textContent = "";
        box.appendChild(element("p", "notice", "Search is not available just now."));
      })
      .then(function () {
        box.removeAttribute("aria-busy");
        box.setAttribute("data-searched", query);
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
