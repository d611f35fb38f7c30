(let [values [1 2 3]]
  (println (nth values (count values))))
