// Nice Pick: answer ?q= on an exported search page, from the index `nicepick build` wrote
// (app/commands/static_search.py says what each file holds). On the server the page is
// rendered with its results and this script does nothing. Ranking is the server's
// (app/search/ranking.py): every word required as a prefix, FTS5's bm25 with the same column
// weights, ties to the newer page; a word on more than half the pages (and more than the rank
// limit) only filters; a query of such words alone lists title holders, then title-and-option
// holders, then the rest, newest first; a query over the rank limit scores only its newest
// matches and the newest older pages whose title and option names hold every word.
// Everything the reader typed or the index holds reaches the page as textContent only.
(function () {
  "use strict";

  var PER_PAGE = 24;
  var MAX_CHARS = 200;
  var MAX_TERMS = 12;
  var K1 = 1.2;
  var B = 0.75;
  // Where a word is on a page: the low two bits of its posting (static_search.TITLE, OPTIONS).
  var TITLE = 2;
  var OPTIONS = 1;

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

  // One query word over the shards fetched for it: its pages, each [weighted count, where],
  // and `count`, the pages of its words summed (what the server's vocabulary counts: a page
  // holding two of the words counts twice), which says whether the word is common.
  function postings(term, exact, shards) {
    var found = new Map();
    var count = 0;
    shards.forEach(function (shard) {
      Object.keys(shard).forEach(function (key) {
        if (exact ? key !== term : !key.startsWith(term)) {
          return;
        }
        var flat = shard[key];
        var page = 0;
        count += flat.length / 2;
        for (var i = 0; i < flat.length; i += 2) {
          page += flat[i];
          var weight = Math.floor(flat[i + 1] / 4);
          var where = flat[i + 1] % 4;
          var seen = found.get(page);
          if (seen === undefined) {
            found.set(page, [weight, where]);
          } else {
            seen[0] += weight;
            seen[1] |= where;
          }
        }
      });
    });
    return { pages: found, count: count };
  }

  // Whether every word is on `page` in a column of `mask` (TITLE, or TITLE | OPTIONS).
  function holds(lists, page, mask) {
    return lists.every(function (list) {
      return (list.pages.get(page)[1] & mask) !== 0;
    });
  }

  // The server's ranked(): the pages in the order its search lists them.
  function rank(meta, lists) {
    var limit = meta.rank_limit;
    var common = Math.max(Math.floor(meta.pages / 2), limit);
    var scored = lists.filter(function (list) {
      return list.count <= common;
    });
    var matched = [];
    lists[0].pages.forEach(function (_, page) {
      for (var i = 1; i < lists.length; i++) {
        if (!lists[i].pages.has(page)) {
          return;
        }
      }
      matched.push(page);
    });
    matched.sort(function (a, b) {
      return b - a; // newest first: pages are numbered in publication order
    });
    if (!scored.length) {
      // Only common words: nothing for bm25 to tell apart; the static order, title first.
      var title = [];
      var names = [];
      var rest = [];
      matched.forEach(function (page) {
        if (holds(lists, page, TITLE)) {
          title.push(page);
        } else if (holds(lists, page, TITLE | OPTIONS)) {
          names.push(page);
        } else {
          rest.push(page);
        }
      });
      return title.concat(names, rest);
    }
    var candidates = matched;
    if (matched.length > limit) {
      // A broad query: its newest `limit` matches and the newest `limit` older named pages.
      var named = matched.slice(limit).filter(function (page) {
        return holds(lists, page, TITLE | OPTIONS);
      });
      candidates = matched.slice(0, limit).concat(named.slice(0, limit));
    }
    var idf = scored.map(function (list) {
      var value = Math.log((meta.pages - list.pages.size + 0.5) / (list.pages.size + 0.5));
      return value > 0 ? value : 1e-6;
    });
    var ranked = candidates.map(function (page) {
      var score = 0;
      var norm = K1 * (1 - B + (B * meta.lengths[page]) / meta.average);
      for (var i = 0; i < scored.length; i++) {
        var freq = scored[i].pages.get(page)[0];
        score += (idf[i] * (freq * (K1 + 1))) / (freq + norm);
      }
      return [score, page];
    });
    ranked.sort(function (a, b) {
      return b[0] - a[0] || b[1] - a[1];
    });
    return ranked.map(function (row) {
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
    if (!docs.length && total) {
      // A page past the last (an old link, an edited address): the server answers 404.
      var last = Math.ceil(total / PER_PAGE);
      var gone = element(
        "p",
        "lede",
        "There is no page " + number + " of results for \u201c" + query + "\u201d: " +
          total + (total === 1 ? " result" : " results") + " on " +
          (last === 1 ? "one page" : last + " pages") + ". "
      );
      gone.appendChild(link(pageUrl(query, 1), "See the first page"));
      box.appendChild(gone);
      return;
    }
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
        var ranked = rank(meta, lists);
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
