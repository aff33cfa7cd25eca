package io.tetris.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tetris.job.state.JobLock;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;

/**
 * One job per name on a remote cluster: the cluster's own list of jobs says whether a job of this
 * name is still going, whichever machine submitted it.
 */
final class RunningJobs {

    private static final Set<String> ENDED = Set.of("FINISHED", "FAILED", "CANCELED");

    private RunningJobs() {}

    /**
     * @throws JobLock.JobRunningException naming the running job and how to stop it
     * @throws IllegalStateException when the JobManager cannot be asked
     */
    static void requireNoneNamed(String jobManager, String jobName) throws InterruptedException {
        String web = "http://" + jobManager;
        JsonNode jobs;
        try {
            HttpResponse<String> response =
                    HttpClient.newBuilder()
                            .connectTimeout(Duration.ofSeconds(10))
                            .build()
                            .send(
                                    HttpRequest.newBuilder(URI.create(web + "/jobs/overview"))
                                            .timeout(Duration.ofSeconds(30))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("HTTP " + response.statusCode() + ": " + response.body());
            }
            jobs = new ObjectMapper().readTree(response.body()).path("jobs");
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot ask the JobManager at "
                            + jobManager
                            + " which jobs run (GET "
                            + web
                            + "/jobs/overview): "
                            + e.getMessage(),
                    e);
        }
        for (JsonNode job : jobs) {
            String state = job.path("state").asText();
            if (jobName.equals(job.path("name").asText()) && !ENDED.contains(state)) {
                String id = job.path("jid").asText();
                throw new JobLock.JobRunningException(
                        "job '"
                                + jobName
                                + "' is already running on "
                                + jobManager
                                + " as "
                                + id
                                + " ("
                                + state
                                + "). Stop it first (curl -s -X PATCH '"
                                + web
                                + "/jobs/"
                                + id
                                + "?mode=cancel'; its checkpoints are kept and this command"
                                + " resumes them), or give this one another --job-name.");
            }
        }
    }
}
