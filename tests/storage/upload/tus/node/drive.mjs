// One upload with tus-js-client (the tus client inside Uppy's tus plugin), driven by
// the storage tests: node drive.mjs '<job as JSON>'. Prints what happens as JSON lines.
//
// job: endpoint, token, file, filename, filetype, chunkSize (bytes, default: one PATCH),
//      store (file of the URL storage, so a second run resumes), stopAt (abort the
//      upload, without terminating it, once this many bytes are sent), retryDelays.
import * as fs from 'node:fs'
import { FileUrlStorage, Upload } from 'tus-js-client'

const job = JSON.parse(process.argv[2])
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`)
const data = fs.readFileSync(job.file)
let first = null
let stopped = false

const upload = new Upload(data, {
  endpoint: job.endpoint,
  chunkSize: job.chunkSize ?? Number.POSITIVE_INFINITY,
  retryDelays: job.retryDelays ?? [0, 200, 500, 1000, 2000],
  headers: { Authorization: `Bearer ${job.token}` },
  metadata: { filename: job.filename, filetype: job.filetype },
  urlStorage: new FileUrlStorage(job.store),
  removeFingerprintOnSuccess: true,
  onProgress (sent, total) {
    if (first === null) {
      first = sent
      say({ event: 'started', offset: sent, total })
    }
    if (job.stopAt && sent >= job.stopAt && !stopped) {
      stopped = true
      upload.abort(false).then(() => say({ event: 'stopped', sent }))
    }
  },
  onSuccess ({ lastResponse }) {
    say({ event: 'success', status: lastResponse.getStatus(), body: JSON.parse(lastResponse.getBody()), url: upload.url })
  },
  onError (error) {
    const answer = error.originalResponse
    say({ event: 'error', message: error.message, status: answer ? answer.getStatus() : null, body: answer ? answer.getBody() : null })
    process.exitCode = 1
  }
})

const previous = await upload.findPreviousUploads()
if (previous.length > 0) {
  upload.resumeFromPreviousUpload(previous[0])
  say({ event: 'resuming', url: previous[0].uploadUrl })
}
upload.start()
