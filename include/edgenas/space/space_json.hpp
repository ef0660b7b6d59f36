// edgenas/space/space_json.hpp — a search space as JSON, read with errors that name the field.
//
//   {"name": "fmnist", "resolutions": [28], "in_channels": 1, "width_multipliers": [1.0],   ("data": the data's)
//    "stem": {"channels": 16, "kernel": 3, "stride": 1, "act": "hswish"},
//    "fixed_blocks": [ {genotype block} ... ],
//    "stages": [{"depths": [1, 2], "out_channels": 16, "stride": 1, "kernels": [3, 5, 7],
//                "expands": [1, 3, 4, 6], "se": [false, true], "acts": ["relu", "hswish"]}, ...],
//    "head": {"channels": 128, "act": "hswish", "hidden": 0, "classes": 10}}
#pragma once

#include <string>
#include <vector>

#include "edgenas/core/json.hpp"
#include "edgenas/space/search_space.hpp"

namespace edgenas {

namespace detail {

inline void check_keys(const json::Value& obj, const std::string& where, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : obj.as_object(where.c_str())) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    EDGENAS_CHECK(known, Status::invalid_argument, "%s: unknown key \"%s\"", where.c_str(), key.c_str());
  }
}

template <typename T, typename Read>
std::vector<T> read_choices(const json::Value& obj, const std::string& where, const char* key, Read&& read) {
  const std::string field = where + "." + key;
  std::vector<T> out;
  for (const auto& v : obj.at(key, where.c_str()).as_array(field.c_str())) out.push_back(read(v, field));
  EDGENAS_CHECK(!out.empty(), Status::invalid_argument, "%s: no choices (the list is empty)", field.c_str());
  return out;
}

inline int read_int_in(const json::Value& v, const std::string& field, std::initializer_list<int> allowed) {
  const int x = v.as_int(field.c_str());
  bool ok = false;
  std::string list;
  for (int a : allowed) ok = ok || a == x, list += (list.empty() ? "" : ", ") + std::to_string(a);
  EDGENAS_CHECK(ok, Status::invalid_argument, "%s: %d is not allowed (choose from %s)", field.c_str(), x, list.c_str());
  return x;
}

inline Activation read_act(const json::Value& v, const std::string& field) {
  Activation a{};
  const std::string& name = v.as_string(field.c_str());
  EDGENAS_CHECK(parse_activation(name, a), Status::invalid_argument, "%s: unknown activation \"%s\"", field.c_str(),
                name.c_str());
  return a;
}

}  // namespace detail

inline json::Value to_json(const SearchSpace& s) {
  const auto ints = [](const std::vector<int>& v) {
    json::Value::Array a;
    for (int x : v) a.emplace_back(x);
    return a;
  };
  json::Value::Array widths, fixed, stages;
  for (double w : s.width_multipliers) widths.emplace_back(w);
  const Genotype with_fixed{{1, 1, 1, 1}, s.stem, s.fixed, s.head};
  const json::Value g = to_json(with_fixed);  // named: iterating into a temporary would dangle
  for (const auto& b : g.at("blocks", "").as_array("")) fixed.push_back(b);
  for (const StageSpace& st : s.stages) {
    json::Value::Array se, acts;
    for (bool b : st.se) se.emplace_back(b);
    for (Activation a : st.acts) acts.emplace_back(std::string(activation_name(a)));
    stages.push_back(json::Value()
                         .set("depths", ints(st.depths))
                         .set("out_channels", st.out_channels)
                         .set("stride", st.stride)
                         .set("kernels", ints(st.kernels))
                         .set("expands", ints(st.expands))
                         .set("se", std::move(se))
                         .set("acts", std::move(acts)));
  }
  return json::Value()
      .set("name", s.name)
      .set("resolutions", s.resolutions.empty() ? json::Value("data") : ints(s.resolutions))
      .set("in_channels", s.in_channels)
      .set("width_multipliers", std::move(widths))
      .set("stem", g.at("stem", ""))
      .set("fixed_blocks", std::move(fixed))
      .set("stages", std::move(stages))
      .set("head", g.at("head", ""));
}

/// Reads and validates a space; every error names the field ("space.stages[2].kernels: …").
inline SearchSpace search_space_from_json(const json::Value& v) {
  detail::check_keys(v, "space",
                     {"name", "resolutions", "in_channels", "width_multipliers", "stem", "fixed_blocks", "stages", "head"});
  SearchSpace s;
  s.name = v.at("name", "space").as_string("space.name");
  // "data": the resolutions follow the data a search reads (spaces::resolutions_for).
  const json::Value& res = v.at("resolutions", "space");
  if (res.kind() == json::Value::Kind::string) {
    EDGENAS_CHECK(res.as_string("space.resolutions") == "data", Status::invalid_argument,
                  "space.resolutions: \"%s\", expected a list of sizes or \"data\"",
                  res.as_string("space.resolutions").c_str());
    s.resolutions.clear();
  } else {
    s.resolutions = detail::read_choices<int>(
        v, "space", "resolutions",
        [](const json::Value& x, const std::string& f) { return x.as_int(f.c_str(), 1, limits::max_extent); });
  }
  s.in_channels = v.at("in_channels", "space").as_int("space.in_channels", 1, limits::max_input_channels);
  s.width_multipliers = detail::read_choices<double>(v, "space", "width_multipliers", [](const json::Value& x, const std::string& f) {
    const double w = x.as_number(f.c_str());
    EDGENAS_CHECK(w > 0.0 && w <= 8.0, Status::invalid_argument, "%s: width multiplier %g outside (0, 8]", f.c_str(), w);
    return w;
  });
  // Stem, fixed blocks and head: the genotype reader validates them.
  json::Value as_genotype;
  as_genotype.set("input", json::Value::Array{1, 1, 1})
      .set("stem", v.at("stem", "space"))
      .set("blocks", v.find("fixed_blocks") ? v.at("fixed_blocks", "space") : json::Value(json::Value::Array{}))
      .set("head", v.at("head", "space"));
  const auto& stages = v.at("stages", "space").as_array("space.stages");
  EDGENAS_CHECK(!stages.empty(), Status::invalid_argument, "space.stages: no stages");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string where = "space.stages[" + std::to_string(i) + "]";
    const json::Value& st = stages[i];
    detail::check_keys(st, where, {"depths", "out_channels", "stride", "kernels", "expands", "se", "acts"});
    StageSpace stage;
    stage.depths = detail::read_choices<int>(st, where, "depths", [](const json::Value& x, const std::string& f) {
      return x.as_int(f.c_str(), 1, 64);
    });
    stage.out_channels =
        st.at("out_channels", where.c_str()).as_int((where + ".out_channels").c_str(), 1, limits::max_channels);
    stage.stride = detail::read_int_in(st.at("stride", where.c_str()), where + ".stride", {1, 2});
    stage.kernels = detail::read_choices<int>(st, where, "kernels", [](const json::Value& x, const std::string& f) {
      return detail::read_int_in(x, f, {3, 5, 7});
    });
    stage.expands = detail::read_choices<int>(st, where, "expands", [](const json::Value& x, const std::string& f) {
      return detail::read_int_in(x, f, {1, 3, 4, 6});
    });
    stage.se = detail::read_choices<bool>(st, where, "se", [](const json::Value& x, const std::string& f) {
      return x.as_bool(f.c_str());
    });
    stage.acts = detail::read_choices<Activation>(st, where, "acts", detail::read_act);
    s.stages.push_back(std::move(stage));
  }
  const Genotype g = genotype_from_json(as_genotype);
  s.stem = g.stem;
  s.fixed = g.blocks;
  s.head = g.head;
  validate_space(s);
  return s;
}

}  // namespace edgenas
