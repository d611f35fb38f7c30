#lang racket/base
(car '())
